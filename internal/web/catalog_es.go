package web

// catalogES is the Spanish message catalog. A missing id falls back to
// English.
var catalogES = map[string]string{
	"title.login": "Iniciar sesión", "title.mfa_enroll": "Configure su aplicación de autenticación", "title.mfa_codes": "Sus códigos de recuperación",
	"title.inbox": "Bandeja de entrada", "title.patients": "Buscar un paciente", "title.patient": "Expediente del paciente",
	"title.setup": "Configurar sotto", "title.setup_done": "Su consultorio está listo", "title.setup_invalid": "Enlace de configuración no válido",
	"title.error": "Algo salió mal", "title.not_found": "No encontrado", "title.forbidden": "No permitido",
	"title.invalid": "Revise lo que envió", "title.rate_limited": "Demasiados intentos", "title.unavailable": "No disponible por el momento",
	"title.portal": "Sesión iniciada",

	"nav.skip": "Saltar al contenido", "nav.label": "Principal", "nav.inbox": "Bandeja", "nav.patients": "Pacientes", "nav.logout": "Cerrar sesión",

	"idle.warning": "Para proteger la privacidad de sus pacientes, su sesión se cerrará en", "idle.stay": "Seguir conectado",

	"login.email": "Correo electrónico", "login.password": "Contraseña", "login.code": "Código de 6 dígitos de su aplicación de autenticación",
	"login.code_hint": "¿Perdió su teléfono? Escriba uno de sus códigos de recuperación.", "login.submit": "Iniciar sesión",
	"login.enroll_link":      "¿Primera vez? Configure su aplicación de autenticación.",
	"login.err_credentials":  "El correo, la contraseña o el código no son correctos. Revíselos e inténtelo de nuevo.",
	"login.err_code_needed":  "Escriba el código de 6 dígitos de su aplicación (o un código de recuperación) e inicie sesión de nuevo.",
	"login.err_rate_limited": "Demasiados intentos. Espere unos minutos e inténtelo de nuevo.",
	"login.err_form":         "No se pudo leer el formulario. Recargue la página e inténtelo de nuevo.",
	"portal.message":         "Ha iniciado sesión. Las páginas del portal del paciente todavía no están disponibles aquí; use la aplicación sotto.",

	"mfa.intro": "El personal inicia sesión con una contraseña y un código de una aplicación de autenticación. Escriba su correo y contraseña para empezar.",
	"mfa.start": "Continuar", "mfa.step1": "1. Agregue esta cuenta a su aplicación: escriba la clave secreta o abra el enlace en el teléfono que tiene la aplicación.",
	"mfa.secret": "Clave secreta:", "mfa.uri": "Enlace de configuración:", "mfa.open_app": "Abrir en una aplicación de autenticación",
	"mfa.step2": "2. Escriba de nuevo su contraseña y el código de 6 dígitos que muestra la aplicación.", "mfa.code": "Código de 6 dígitos", "mfa.confirm": "Confirmar e iniciar sesión",
	"mfa.err_code":       "Ese código no es correcto. Los códigos cambian cada 30 segundos: escriba el que muestra ahora.",
	"mfa.err_done":       "Esta cuenta ya tiene una aplicación de autenticación. Inicie sesión con su código.",
	"mfa.codes_intro":    "Anote o imprima estos diez códigos y guárdelos en un lugar seguro. Cada uno le permite entrar una vez si pierde su teléfono. Solo se muestran ahora.",
	"mfa.codes_continue": "Ya los guardé: ir a la bandeja",

	"setup.intro":    "Cree su consultorio y su primer administrador. Este enlace funciona una vez y caduca una hora después de generarse.",
	"setup.org_name": "Nombre del consultorio", "setup.name": "Su nombre completo", "setup.email": "Su correo electrónico (para iniciar sesión)",
	"setup.password": "Contraseña (al menos 12 caracteres; mejor una frase larga)", "setup.submit": "Crear consultorio",
	"setup.bad_link":         "Este enlace no es válido, ya se usó o caducó. Reinicie sotto con una base de datos vacía para obtener otro.",
	"setup.done_intro":       "Su consultorio está listo. El personal inicia sesión con una contraseña y un código de una aplicación de autenticación.",
	"setup.done_secret_once": "Agregue ahora esta cuenta a su aplicación de autenticación: esta clave se muestra una sola vez.",

	"error.request_id": "Referencia para soporte: %s", "error.back_inbox": "Volver a la bandeja", "error.sign_in": "Ir a iniciar sesión",
	"error.internal":     "Algo salió mal de nuestro lado. Inténtelo de nuevo en un momento; si sigue pasando, dé la referencia a su administrador.",
	"error.not_found":    "Esta página no existe o usted no tiene acceso.",
	"error.cross_origin": "Este formulario se envió desde otro sitio y fue rechazado. Vuelva a sotto e inténtelo de nuevo.",

	"inbox.queues": "Colas", "inbox.conversations": "Conversaciones", "inbox.unread_n": "%d sin leer", "inbox.unread": "Sin leer",
	"inbox.patient_hidden": "Paciente", "inbox.older": "Conversaciones anteriores",
	"inbox.empty": "No hay nada aquí. Las conversaciones nuevas de esta cola aparecerán solas.",
	"inbox.pick":  "Elija una conversación a la izquierda para leerla. Pulse ? para ver los atajos de teclado.",
	"queue.mine":  "Mías", "queue.unassigned": "Sin asignar", "queue.urgent": "Urgentes", "queue.all": "Todas",

	"thread.assign_me": "Asignarme", "thread.close": "Cerrar", "thread.reopen": "Reabrir", "thread.assigned_to": "asignada a %s",
	"thread.messages": "Mensajes", "thread.no_messages": "Todavía no hay mensajes.", "thread.read_only": "Su función puede leer esta conversación pero no responder.",
	"msg.internal_label": "Interna - no visible para el paciente", "msg.retracted": "Este mensaje fue retirado.",
	"msg.attachment": "Adjunto", "msg.attachment_n": "Adjunto %d", "msg.read": "Leído", "msg.delivered": "Entregado", "msg.sent": "Enviado",
	"notified.label": "Aviso al paciente:", "notified.channel.sms": "texto", "notified.channel.email": "correo", "notified.channel.push": "push",
	"notified.channel.log": "buzón de demostración", "notified.channel.none": "sin canal",
	"notified.status.queued": "en cola", "notified.status.held": "retenido por horas de silencio", "notified.status.sent": "enviado",
	"notified.status.delivered": "entregado", "notified.status.failed": "falló", "notified.status.undelivered": "no entregado",
	"notified.status.suppressed": "no enviado", "notified.status.cancelled": "cancelado",
	"msg.staff": "Personal", "msg.patient": "Paciente", "msg.proxy_suffix": "%s (por el paciente)",
	"live.new_message": "Nuevo mensaje de %s",
	"compose.label":    "Responder al paciente", "compose.internal": "Nota interna", "compose.hint": "Ctrl+Enter envía",
	"compose.send": "Enviar", "compose.err_empty": "Escriba un mensaje antes de enviar.",

	"keys.title": "Atajos de teclado", "keys.move": "Conversación siguiente / anterior", "keys.open": "Abrir la conversación",
	"keys.reply": "Responder", "keys.assign": "Asignarme", "keys.close": "Cerrar la conversación", "keys.search": "Buscar un paciente",
	"keys.send": "Enviar la respuesta", "keys.help": "Mostrar esta lista", "keys.dismiss": "Cerrar", "keys.hint": "Pulse ? para ver los atajos de teclado.",

	"patients.query": "Nombre, número de expediente, teléfono, correo o fecha de nacimiento (AAAA-MM-DD)", "patients.search": "Buscar",
	"patients.hint": "Las búsquedas quedan registradas en la auditoría.", "patients.results": "%d pacientes encontrados",
	"patients.none": "Ningún paciente coincide. Revise la ortografía o busque por expediente o fecha de nacimiento.",
	"patient.name":  "Nombre", "patient.dob": "Fecha de nacimiento", "patient.mrn": "Expediente", "patient.language": "Idioma",
	"patient.care_team": "Equipo de atención", "patient.no_care_team": "Sin equipo de atención", "patient.panel": "Paciente",
	"patient.conversations": "Conversaciones", "patient.no_conversations": "Todavía no hay conversaciones con este paciente.",

	"request.refill": "Solicitud de resurtido", "request.medication": "Medicamento", "request.dose": "Dosis", "request.pharmacy": "Farmacia",
	"request.appointment": "Solicitud de cita",

	"role.admin": "Administración", "role.provider": "Médico", "role.nurse": "Enfermería", "role.front_desk": "Recepción",
	"role.billing": "Facturación", "role.compliance": "Cumplimiento", "role.patient": "Paciente", "role.proxy": "Representante",
	"cat.general": "Pregunta", "cat.refill": "Resurtido", "cat.appointment": "Cita", "cat.billing": "Facturación",
	"cat.lab_result": "Resultado de laboratorio", "cat.follow_up": "Seguimiento", "cat.urgent": "Urgente", "cat.internal": "Interna",
	"status.open": "Abierta", "status.pending_patient": "Esperando al paciente", "status.closed": "Cerrada",
	"lang.en": "Inglés", "lang.es": "Español",

	"time.now": "ahora mismo", "time.min_ago": "hace %d min", "time.h_ago": "hace %d h", "time.yesterday": "ayer",
	"time.days_ago": "hace %d días", "time.today": "Hoy", "time.yesterday_cap": "Ayer",
	"time.date": "%s %d %s %d", "time.exact": "%s, %s %s",
	"wd.0": "dom", "wd.1": "lun", "wd.2": "mar", "wd.3": "mié", "wd.4": "jue", "wd.5": "vie", "wd.6": "sáb",
	"mon.1": "ene", "mon.2": "feb", "mon.3": "mar", "mon.4": "abr", "mon.5": "may", "mon.6": "jun",
	"mon.7": "jul", "mon.8": "ago", "mon.9": "sep", "mon.10": "oct", "mon.11": "nov", "mon.12": "dic",
}
